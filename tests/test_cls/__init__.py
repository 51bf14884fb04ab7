"""Tests of mmext.cls (mmpretrain heads)."""
