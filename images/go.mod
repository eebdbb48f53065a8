module involution.local/images

go 1.22
