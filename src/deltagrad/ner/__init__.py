"""Window-based named-entity recognition: the CS224N Lecture 4 application."""
