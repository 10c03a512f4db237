"""The desk's HTTP interface (aiohttp): routes, request/response schemas, authentication."""
