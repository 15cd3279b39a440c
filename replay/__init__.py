"""A local replay of arXiv (API, RSS, OAI-PMH, PDFs) for `arxiv-digest demo` and the tests.

Product code: the demo serves the sample day from it, so it ships in the wheel. It answers
with the fields and quirks the real services send (see the recorded responses under
`tests/fixtures`), and generates each paper's PDF from its metadata.
"""
