"""Documents the user drags into a chat: extraction, chunking, the search index and answering."""
