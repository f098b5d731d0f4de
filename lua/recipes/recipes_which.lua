-- banger recipes which NAME: the file that wins for NAME.
return recipe.new {
  description = "Print the file that defines a recipe (the one that wins the lookup)",
  params = {
    { "name", positional = true, required = true, help = "recipe name, e.g. image_pull or 'image pull'" },
  },
  run = function(ctx, args)
    local name = args.name:gsub("[ %-]", "_")
    local c = banger.recipe.candidates(name)
    if #c == 0 then
      banger.errors.raise("not_found", ("no recipe named '%s'"):format(name), "run 'banger recipes' to list them")
    end
    ctx:emit({ name = name, origin = c[1].origin, path = c[1].path }, function(v)
      return v.origin == "builtin" and ("builtin:" .. v.path) or v.path
    end)
  end,
}
