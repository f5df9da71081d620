"""The base form every domain uses: Flask-WTF with CSRF, and WTForms' own Korean messages."""

from flask_wtf import FlaskForm


class Form(FlaskForm):
    class Meta:
        # WTForms ships Korean translations for its built-in messages ("올바르지 않은 날짜 값입니다." …);
        # WTF_I18N_ENABLED=False in the config lets WTForms use them without Flask-Babel.
        locales = ("ko_KR", "ko")
