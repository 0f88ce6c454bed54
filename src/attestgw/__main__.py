from attestgw.cli import main

main()
