"""Role-play drills: scenarios, sessions and their store, the terminal loop, progress reports."""
