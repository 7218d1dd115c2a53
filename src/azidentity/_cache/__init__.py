"""In-memory and persistent token caches, their options, and the records of signed-in users."""
