"""Entry point of the agent bundle (also the zipapp's top-level __main__)."""

from agent.session import main

main()
