from dbdbench.cli import main

main()
