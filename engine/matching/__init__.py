"""The engine run: experta with the project's faster matcher and agenda."""
