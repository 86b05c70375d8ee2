"""`make types`: regenerate what is derived from shared/schema (the code is imgops_testing.codegen)."""

from imgops_testing.codegen import main

raise SystemExit(main())
