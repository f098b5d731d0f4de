-- banger image cat NAME PATH
return recipe.new {
  description = "Print a file from inside an image",
  params = {
    { "name", positional = true, required = true, metavar = "NAME" },
    { "path", positional = true, required = true, metavar = "PATH" },
  },
  run = function(ctx, args)
    io.write(banger.image.cat(args.name, args.path))
  end,
}
