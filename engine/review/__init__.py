"""The pipeline review: every deal assessed and coached, ordered by risk, with patterns across deals."""
