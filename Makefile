# Conveniences over the scripts (a bare Debian has bash but not always make).
.PHONY: run test lint
run:
	bash scripts/run.sh
test:
	bash scripts/test.sh
lint:
	.venv/bin/ruff check src tests bench && .venv/bin/ruff format --check src tests bench && .venv/bin/mypy
