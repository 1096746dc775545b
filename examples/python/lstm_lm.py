"""A word-level LSTM language model on the bundled Shakespeare, written as
pytorch/examples/word_language_model writes it (Embedding -> LSTM -> Linear decoder, truncated
back-propagation through time with `repackage_hidden`, gradient clipping, plain SGD with the
learning rate divided by 4 when validation stops improving), only the import names Ember.

    python examples/python/lstm_lm.py --epochs 1
    python examples/python/lstm_lm.py --epochs 1 --torch
"""

import argparse
import math
import pathlib
import sys
import time

if "--torch" in sys.argv:
    import torch
else:
    import ember.compat
    ember.compat.install()
    import torch
import torch.nn as nn  # noqa: E402

TEXT = pathlib.Path(__file__).resolve().parents[2] / "data" / "shakespeare" / "shakespeare_complete.txt"


class Dictionary:
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class Corpus:
    """Train/valid/test splits (90/5/5) of the text's lines, each line's words then <eos>; words
    seen fewer than `min_count` times in training become <unk>."""

    def __init__(self, path, max_lines=None, min_count=3):
        lines = [ln.split() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        if max_lines:
            lines = lines[:max_lines]
        a, b = int(0.9 * len(lines)), int(0.95 * len(lines))
        counts = {}
        for ln in lines[:a]:
            for w in ln:
                counts[w] = counts.get(w, 0) + 1
        self.dictionary = Dictionary()
        self.dictionary.add_word("<unk>")
        self.dictionary.add_word("<eos>")
        for w, c in counts.items():
            if c >= min_count:
                self.dictionary.add_word(w)
        self.train, self.valid, self.test = (self.tokenize(s) for s in (lines[:a], lines[a:b], lines[b:]))

    def tokenize(self, lines):
        w2i = self.dictionary.word2idx
        ids = [w2i.get(w, 0) for ln in lines for w in ln + ["<eos>"]]
        return torch.tensor(ids, dtype=torch.int64)


class RNNModel(nn.Module):
    """Container module with an encoder, a recurrent module, and a decoder."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError("When using the tied flag, nhid must be equal to emsize")
            self.decoder.weight = self.encoder.weight
        self.init_weights()
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return nn.functional.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


def repackage_hidden(h):
    """Wraps hidden states in new Tensors, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def get_batch(source, i, bptt):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


def main():
    parser = argparse.ArgumentParser(description="PyTorch Word-level LSTM Language Model")
    parser.add_argument("--model", type=str, default="LSTM")
    parser.add_argument("--emsize", type=int, default=200)
    parser.add_argument("--nhid", type=int, default=200)
    parser.add_argument("--nlayers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=20)
    parser.add_argument("--clip", type=float, default=0.25)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=20)
    parser.add_argument("--bptt", type=int, default=35)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--tied", action="store_true")
    parser.add_argument("--seed", type=int, default=1111)
    parser.add_argument("--log-interval", type=int, default=200)
    parser.add_argument("--max-lines", type=int, default=None, help="use the first N lines of the text")
    parser.add_argument("--max-batches", type=int, default=None, help="stop each epoch after N batches")
    parser.add_argument("--torch", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    corpus = Corpus(TEXT, args.max_lines)
    eval_batch_size = 10
    train_data = batchify(corpus.train, args.batch_size)
    val_data = batchify(corpus.valid, eval_batch_size)
    ntokens = len(corpus.dictionary)
    model = RNNModel(args.model, ntokens, args.emsize, args.nhid, args.nlayers, args.dropout, args.tied)
    criterion = nn.NLLLoss()
    print(f"vocabulary {ntokens} words, {len(corpus.train)} training tokens")

    def evaluate(data_source):
        model.eval()
        total_loss = 0.0
        hidden = model.init_hidden(eval_batch_size)
        with torch.no_grad():
            for i in range(0, data_source.size(0) - 1, args.bptt):
                data, targets = get_batch(data_source, i, args.bptt)
                output, hidden = model(data, hidden)
                hidden = repackage_hidden(hidden)
                total_loss += len(data) * criterion(output, targets).item()
        return total_loss / (len(data_source) - 1)

    def train(lr, epoch):
        model.train()
        total_loss = 0.0
        start_time = time.time()
        hidden = model.init_hidden(args.batch_size)
        for batch, i in enumerate(range(0, train_data.size(0) - 1, args.bptt)):
            if args.max_batches and batch >= args.max_batches:
                break
            data, targets = get_batch(train_data, i, args.bptt)
            model.zero_grad()
            hidden = repackage_hidden(hidden)
            output, hidden = model(data, hidden)
            loss = criterion(output, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            total_loss += loss.item()
            if batch % args.log_interval == 0 and batch > 0:
                cur_loss = total_loss / args.log_interval
                elapsed = time.time() - start_time
                print(f"| epoch {epoch:3d} | {batch:5d}/{len(train_data) // args.bptt:5d} batches | lr {lr:02.2f} | "
                      f"ms/batch {elapsed * 1000 / args.log_interval:5.2f} | loss {cur_loss:5.2f} | "
                      f"ppl {math.exp(cur_loss):8.2f}", flush=True)
                total_loss = 0
                start_time = time.time()

    lr = args.lr
    best_val_loss = None
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train(lr, epoch)
        val_loss = evaluate(val_data)
        print(f"| end of epoch {epoch:3d} | valid loss {val_loss:5.2f} | valid ppl {math.exp(val_loss):8.2f}")
        if not best_val_loss or val_loss < best_val_loss:
            best_val_loss = val_loss
        else:
            lr /= 4.0
    print(f"time: {time.perf_counter() - start:.1f} s, best valid ppl {math.exp(best_val_loss):.1f}")
    return math.exp(best_val_loss)


if __name__ == "__main__":
    main()
