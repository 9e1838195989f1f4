"""Pages for people: sign-in, consent, sign-out, and the error page, server-rendered.

Routes here are thin (parse, call one function, render a Jinja2 page or redirect); the OAuth
protocol stays in ``oauth/`` and accounts in ``services/``. Every page route is a
``routing.PageRoute``: its errors are pages (never JSON), and every POST it receives has
passed the CSRF check before the handler runs. ``headers.SecurityHeaders`` adds the security
headers to every page.
"""
