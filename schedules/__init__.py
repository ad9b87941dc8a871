"""Scheduled jobs: APScheduler with a persistent job store on the bot's database."""
