"""One module (or package) per method; each adds only what is its own to the shared loop and
learner.
"""
