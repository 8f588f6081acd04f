"""From a config's runs to verdicts: experiments, aggregates, statistics, claims, tables and
figures. Never imports training or agents.
"""
