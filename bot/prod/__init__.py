"""Production mode's parts: settings (``settings``), generated nginx and Rasa files
(``files``), one process in a container (``container``). ``bot.production`` runs it all on
one machine and re-exports these names."""
