# One command each: `make demo` (set up + run the demo), `make test` (set up + run the tests).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
# the compiled translation catalogues (not committed; built from locale/*/LC_MESSAGES/django.po)
MO      = locale/id/LC_MESSAGES/django.mo locale/en/LC_MESSAGES/django.mo

.PHONY: setup demo test lint messages

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# polib compiles them (surveys/i18n.py): no GNU gettext needed
locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(STAMP)
	$(PY) -m surveys.i18n compile

setup: $(STAMP) $(MO)

demo: $(STAMP) $(MO)
	$(PY) manage.py demo

test: $(STAMP) $(MO)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# after adding strings (`# Translators: id: ...` above each new gettext call): update both
# catalogues, then translate any msgid it lists as lacking Indonesian in locale/id
messages: $(STAMP)
	$(PY) -m surveys.i18n harvest
