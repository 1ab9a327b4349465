"""UA-GEC: real grammatical error correction data, sentence by sentence (``dataset="ua-gec"``).

UA-GEC (Syvokon et al., 2023; the ``ua-gec`` package, CC BY 4.0, ``pip install
'textedit-env[gec]'``) holds Ukrainian texts written by people and corrected by annotators, with
its own train and test partitions; every test document was corrected by two annotators. A task
is one sentence of a document: its source as written, and each annotator's correction as a
reference (two for most test sentences, so a multi-reference metric pays for either correction;
annotators who agree count once). The ``gec-only`` annotation layer is used (grammar, spelling
and punctuation, not fluency rewrites), tokenized as the corpus ships it (punctuation split off,
one space between tokens). Only sentences that every annotator changed are tasks, of
``MIN_WORDS`` to ``MAX_WORDS`` tokens (the source and every correction): where the source is
itself a reference, stopping at once would be a perfect answer. The corpus's partition is the
task's split.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from textedit_env.tasks.datasets import DatasetError

MIN_WORDS, MAX_WORDS = 3, 30


@cache
def ua_gec_pairs() -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """``(source, references, partition)`` of every task sentence, train partition first."""
    try:
        from ua_gec import Corpus
    except ModuleNotFoundError:
        raise DatasetError("dataset='ua-gec' needs the ua-gec package: pip install 'textedit-env[gec]'") from None
    pairs = []
    for partition in ("train", "test"):
        annotations = defaultdict(list)
        for document in Corpus(partition=partition, annotation_layer="gec-only").get_documents():
            annotations[document.doc_id].append(document)
        for doc_id in sorted(annotations):
            documents = annotations[doc_id]
            sources = documents[0].source_sentences_tokenized
            corrections = [document.target_sentences_tokenized for document in documents]
            if any(len(c) != len(sources) for c in corrections):
                continue  # a document whose sentences do not line up (none in UA-GEC 2.1)
            for i, source in enumerate(sources):
                references = tuple(dict.fromkeys(c[i] for c in corrections))  # annotators who agree count once
                texts = (source, *references)
                if source not in references and all(MIN_WORDS <= len(t.split()) <= MAX_WORDS for t in texts):
                    pairs.append((source, references, partition))
    return tuple(pairs)
