"""`python -m cron`: run the scheduler until SIGTERM (started by `litestream replicate -exec`)."""

from cron.main import main

main()
