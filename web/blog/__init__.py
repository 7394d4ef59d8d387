"""The public site: posts, tags, feeds, comments."""
