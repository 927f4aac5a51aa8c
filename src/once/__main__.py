from once.cli.launch import main

main()
