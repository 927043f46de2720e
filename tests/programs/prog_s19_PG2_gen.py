"""PGD adversarial training, written afresh (PG2, session 19; the generative-model and
reinforcement-learning programs that were here run elsewhere: see SECTIONS).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_pgd() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = torch.rand(8, 1, 8, 8)
    y = torch.randint(0, 3, (8,))

    def pgd_attack(model, images, labels, eps=0.1, alpha=0.03, iters=4):
        original = images.data
        images = images + torch.empty_like(images).uniform_(-eps, eps)
        images = torch.clamp(images, 0, 1).detach()
        for _ in range(iters):
            images.requires_grad = True
            outputs = model(images)
            model.zero_grad()
            cost = F.cross_entropy(outputs, labels)
            grad = torch.autograd.grad(cost, images)[0]
            adv_images = images + alpha * grad.sign()
            eta = torch.clamp(adv_images - original, min=-eps, max=eps)
            images = torch.clamp(original + eta, min=0, max=1).detach_()
        return images

    clean_losses, adv_losses = [], []
    for _ in range(4):
        model.eval()
        adv = pgd_attack(model, x, y)
        model.train()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(adv), y)
        loss.backward()
        optimizer.step()
        adv_losses.append(loss.item())
        with torch.no_grad():
            clean_losses.append(F.cross_entropy(model(x), y).item())
    put("pgd.adv_losses", adv_losses)
    put("pgd.clean_losses", clean_losses)
    put("pgd.adv", adv)
    put("pgd.linf", (adv - x).abs().max())
    put_state("pgd.model", model)


# (a DCGAN, the examples' VAE and REINFORCE / actor-critic were typed here as in
# prog_s9_P1_examples.py's dcgan, vae, reinforce and actor_critic sections, and the DQN tutorial
# as in prog_s17_PG_training.py's dqn section, which exercise the same APIs; those run them:
# removed in session 31, DD3.)
SECTIONS = {"pgd": section_pgd}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
