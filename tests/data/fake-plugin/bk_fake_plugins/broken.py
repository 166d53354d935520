"""A third-party plugin whose import fails."""

raise ImportError("bk_fake_plugins.broken needs a module that is not installed")
