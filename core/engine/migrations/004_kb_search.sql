-- Full-text search over knowledge-base articles. The trigram tokenizer needs no word
-- boundaries, so Chinese (written without spaces) and English are both searchable; queries
-- shorter than three characters fall back to a substring scan (see store/kb.rs).
CREATE VIRTUAL TABLE kb_fts USING fts5(id UNINDEXED, title, body, tags, tokenize = 'trigram');
