"""Game modes as data: the packaged ones, a directory's and those users declared."""
