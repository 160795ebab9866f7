document.getElementById("main").textContent = "dashboard";
