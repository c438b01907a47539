"""The import formats, free of Django so the `guanxi` command can list them before Django is set up."""

FORMATS = ("taobao", "shopify", "cdnow", "generic")
