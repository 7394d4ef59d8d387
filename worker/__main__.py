"""`python -m worker`: run the pull consumers until SIGTERM."""

from worker.main import main

main()
