from pcclip.cli import main

main()
