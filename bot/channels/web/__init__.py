"""The clerk's web desk: the campaign at a glance in a browser, signed in from the chat.

`desk.Desk(settings).mount(app)` adds its routes under /web to the server on THIDUA_LISTEN.
`views` reads what each page shows, `listing` pages the reports, `actions` does what the office
does in the chat (review, remind), `render` holds the Jinja2 templates.
"""
