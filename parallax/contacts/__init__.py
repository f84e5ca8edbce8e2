"""Contact centre: metrics per group and call drivers (the contacts each failure brought).

The counting is SQL in ``models/contacts/``; these modules turn counts into rates, intervals and
costs. Commands: ``parallax.commands.contacts``; definitions: docs/contacts.md.
"""
