"""Dynamic segments: rules over profile, behaviour and scores, compiled to one query; saved segments with
membership history, kept fresh by refreshes; built-in segments; exports and bulk actions."""
