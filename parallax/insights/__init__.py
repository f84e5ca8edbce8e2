"""Insights across sources: verbatims (topics, sentiment, said vs measured) and the quality score.

The counting is SQL in ``models/insights/``; the lexicons the text analysis reads are in
``lexicon/`` beside the code and travel in the wheel. Commands: ``parallax.commands.insights``.

- ``lexicon/``: the topic, sentiment and stop-word lexicons, one TOML file per language
"""
