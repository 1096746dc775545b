# A two-layer GCN (Kipf & Welling) as pytorch/examples/gcn writes it: sparse normalised
# adjacency, torch.sparse.mm, dropout, log_softmax and NLL on a random graph.
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
n, f, c = 60, 8, 3
edges = torch.randint(0, n, (2, 240))
adj = torch.sparse_coo_tensor(edges, torch.ones(240), (n, n)).coalesce()
deg = torch.sparse.sum(adj, dim=1).to_dense() + 1
adj = torch.sparse_coo_tensor(adj.indices(), adj.values() / deg[adj.indices()[0]], (n, n))
x = torch.randn(n, f)
y = torch.randint(0, c, (n,))


class GraphConv(nn.Module):
    def __init__(self, input_dim, output_dim):
        super().__init__()
        self.kernel = nn.Parameter(torch.FloatTensor(input_dim, output_dim))
        nn.init.xavier_normal_(self.kernel)
        self.bias = nn.Parameter(torch.zeros(output_dim))

    def forward(self, x, a):
        return torch.sparse.mm(a, x @ self.kernel) + self.bias


class GCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.gc1 = GraphConv(f, 16)
        self.gc2 = GraphConv(16, c)

    def forward(self, x, a):
        x = F.dropout(F.relu(self.gc1(x, a)), 0.5, self.training)
        return F.log_softmax(self.gc2(x, a), dim=1)


model = GCN()
opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
losses = []
for epoch in range(40):
    model.train()
    opt.zero_grad()
    loss = F.nll_loss(model(x, adj), y)
    loss.backward()
    opt.step()
    losses.append(loss.item())
print("RESULT", losses[0], losses[-1])
assert losses[-1] < losses[0]
