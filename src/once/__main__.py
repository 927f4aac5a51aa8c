from once.cli.main import main

main()
