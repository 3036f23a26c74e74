# The SplitMixer paper's schedule for batch 128 (Flowers102, Food101): the
# batch-512 schedule with lr 0.01.
_base_ = ['./splitmixer_bs512_adamw_100e.py']

optim_wrapper = dict(optimizer=dict(lr=0.01))

auto_scale_lr = dict(base_batch_size=128)
