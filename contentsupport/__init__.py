"""How files that conversation designers edit (`content/*.yml`) are read and checked."""
