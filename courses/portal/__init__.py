"""The provider portal and the ministries' approval of provider submissions.

models.py     run submissions, their numbered revisions, notices to providers
workflow.py   the one transition table of a submission and the function that applies it
fields.py     what a submission holds (the fields, their Korean labels) and the field-by-field diff
rules.py      every rule a submitted run must meet (shared by the form, the API and the services)
services.py   save, submit, approve, reject, withdraw; the auditor's queue; publishing to the catalog
forms.py      the course-and-run form (WTForms, Korean messages)
views.py      /provider/… pages and the auditor's /audit/submissions… pages
api.py        /api/v1/provider/runs and /api/v1/audit/submissions…
"""

from __future__ import annotations


def import_models() -> None:
    """So SQLAlchemy and Alembic see the portal's tables (the app factory calls it)."""
    import courses.portal.models  # noqa: F401


def blueprints() -> list:
    """The portal's pages (HTML): submissions and approval, registration and vetting."""
    from courses.portal import vetting_views, views

    return [views.bp, vetting_views.bp]


def api_blueprint():
    """The portal's JSON API (registered under /api/v1 by hrdnet.api.init_api)."""
    from courses.portal import api

    return api.bp
