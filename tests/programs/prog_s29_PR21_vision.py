"""One of the pytorch/examples repository's image programs, as its users run it (PR21,
session 29; written afresh, synthetic data, tiny sizes): vision_transformer (patch embedding,
class token, pre-norm encoder, AdamW with cosine annealing, inference_mode). The repository's
other image programs run in the earlier families' files named below SECTIONS. Run by
prog_s29_PR21_all.py.
"""
# ruff: noqa: B007, E501, E731, N801, N802, N806, N812, UP004, UP008, UP015, UP031, UP032 - written as a reader types


import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s25_PR9_harness import printed, put
from torch.utils.data import DataLoader, TensorDataset


class PatchEmbedding(nn.Module):
    def __init__(self, img_size=8, patch_size=4, in_channels=3, embed_dim=16):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        x = self.proj(x)
        x = x.flatten(2)
        x = x.transpose(1, 2)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, num_classes=4, embed_dim=16, depth=2, num_heads=2):
        super().__init__()
        self.patch_embed = PatchEmbedding(embed_dim=embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.patch_embed.num_patches, embed_dim))
        self.pos_drop = nn.Dropout(p=0.1)
        layer = nn.TransformerEncoderLayer(embed_dim, num_heads, dim_feedforward=32, dropout=0.1,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def forward(self, x):
        B = x.shape[0]
        x = self.patch_embed(x)
        cls_tokens = self.cls_token.expand(B, -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        x = x + self.pos_embed
        x = self.pos_drop(x)
        x = self.blocks(x)
        x = self.norm(x)
        return self.head(x[:, 0])


def section_vit():
    images = torch.randn(16, 3, 8, 8)
    labels = (images[:, 0].mean((1, 2)) > 0).long() + 2 * (images[:, 1].mean((1, 2)) > 0).long()
    loader = DataLoader(TensorDataset(images, labels), batch_size=8, shuffle=True)
    with printed("e21_vit.log"):
        model = VisionTransformer()
        print(sum(p.numel() for p in model.parameters() if p.requires_grad))
        optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
        scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
        criterion = nn.CrossEntropyLoss()
        for epoch in range(3):
            model.train()
            running_loss, correct, total = 0.0, 0, 0
            for inputs, targets in loader:
                optimizer.zero_grad()
                outputs = model(inputs)
                loss = criterion(outputs, targets)
                loss.backward()
                optimizer.step()
                running_loss += loss.item()
                _, predicted = outputs.max(1)
                total += targets.size(0)
                correct += predicted.eq(targets).sum().item()
            scheduler.step()
            print(f"Epoch [{epoch + 1}/3], Loss: {running_loss / len(loader):.4f}, Acc: {100. * correct / total:.2f}%, lr {scheduler.get_last_lr()[0]:.6f}")
        model.eval()
        with torch.inference_mode():
            logits = model(images[:4])
        print(logits.is_inference(), logits.argmax(-1), F.softmax(logits, -1).max(-1).values)
    put("e21_vit.logits", logits.clone())


SECTIONS = {"e21_vit": section_vit}
# (mnist, mnist_rnn, mnist_forward_forward, vae, dcgan, siamese_network, super_resolution, fast_neural_style,
# imagenet and regression ran here too until session 30: the same examples run in
# prog_s9_P1_examples.py, prog_s10_P2_examples.py, prog_s10_P2_vision.py, prog_s6_models.py,
# prog_s6_training.py, prog_s17_PR_edges.py, prog_s17_PR_misc.py, prog_s18_PG_examples.py
# and prog_dataloader.py)
