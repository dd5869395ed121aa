"""knowledge_base."""
