-- What the operator creates once in PostgreSQL 15 for Guichet, as a
-- superuser (psql -U postgres -f postgres.sql); Guichet's migrations create
-- everything else at its first start, as the owner of its database.
CREATE ROLE guichet LOGIN PASSWORD 'CHANGEZ-MOI';
CREATE DATABASE guichet OWNER guichet ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0;
\connect guichet
-- The French search without accents and the search index by scope; both
-- are trusted extensions, which the migrations would also create as the
-- database's owner.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS btree_gin;
