from dlgen.cli import main

main()
