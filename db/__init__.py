"""PostgreSQL: the schema migrations and the queries, grouped by table family.

Every query function takes a connection, so the caller owns the transaction.
"""
