from voice_ai.cli import app

app()
